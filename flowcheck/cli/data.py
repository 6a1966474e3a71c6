"""flowcheck data: datasets (today: render a seeded synthetic GQA-style split)."""
from __future__ import annotations

from pathlib import Path

from .args import EXIT_OK, command, int_arg, tasks_arg

EXAMPLES = ["flowcheck data generate --seed 7 --per-task 50 --out data/synthetic-seed7",
            "flowcheck data import-gqa --csv-dir cross-modal-information-flow-in-MLLM/datasets "
            "--images gqa/images --out data/gqa-val",
            "flowcheck run --model llava-hf/llava-1.5-7b-hf --dataset data/gqa-val --max-samples 100"]


def add_parser(sub) -> None:
    data = command(sub, "data", "synthetic GQA-style data", EXAMPLES).add_subparsers(
        dest="action", metavar="ACTION", required=True)
    gen = data.add_parser("generate", help="render a seeded synthetic split (PNGs + questions.jsonl)")
    gen.add_argument("--seed", type=int_arg("--seed"), required=True)
    gen.add_argument("--per-task", type=int_arg("--per-task"), default=120)
    gen.add_argument("--tasks", type=tasks_arg, default=None, help="comma-separated task types")
    gen.add_argument("--out", type=Path, required=True)
    gen.set_defaults(func=cmd_generate)
    imp = data.add_parser("import-gqa", help="the paper's six GQA task files (CSV) + GQA images -> "
                                            "a dataset folder (images read in place)")
    imp.add_argument("--csv-dir", type=Path, required=True,
                     help="folder with the official task files (GQA_val_correct_question_with_*.csv)")
    imp.add_argument("--images", type=Path, required=True, help="GQA images folder ({img_id}.jpg)")
    imp.add_argument("--out", type=Path, required=True, help="new dataset folder")
    imp.add_argument("--skip-bad-rows", action="store_true",
                     help="import the good rows and list the others in import_report.json "
                          "(default: any bad row stops the import, nothing is written)")
    imp.set_defaults(func=cmd_import_gqa)


def cmd_generate(args) -> int:
    from ..data import dataset
    samples = dataset.generate(args.seed, args.per_task, args.tasks or dataset.TASKS)
    out = dataset.save(samples, args.out)
    print(f"wrote {len(samples)} samples to {out}")
    return EXIT_OK


def cmd_import_gqa(args) -> int:
    from ..data.gqa import import_gqa
    report = import_gqa(args.csv_dir, args.images, args.out, args.skip_bad_rows)
    n = sum(report["rows_imported"].values())
    print(f"imported {n} rows ({', '.join(f'{t} {k}' for t, k in report['rows_imported'].items())}) "
          f"into {args.out}; images read in place from {report['images_dir']}")
    clipped = report.get("clipped") or {}
    if clipped:
        outside = sum(any(n.get("outside") for n in notes) for notes in clipped.values())
        print(f"clipped the boxes of {len(clipped)} rows to the image, as the paper's mask does "
              f"(a box ran past the edge; in {outside} of them a box has no pixel inside the image: "
              f"no related token there) (list: {args.out / 'import_report.json'}, 'clipped')")
    if report["skipped_rows"]:
        print(f"skipped {report['skipped_rows']} rows; rows per problem: " + "; ".join(
            f"{kind} {len(ids)}" for kind, ids in report["skipped"].items())
              + f" (list: {args.out / 'import_report.json'})")
    return EXIT_OK
