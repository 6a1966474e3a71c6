"""The command line: version, help, data generation, evaluation, exit codes."""
import json
import subprocess
import sys

import pytest

from flowcheck import __version__
from flowcheck.cli.main import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "flowcheck", *args], capture_output=True,
                          text=True, timeout=600)


def test_version():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"flowcheck {__version__}"


def test_help_lists_commands_without_torch():
    out = run("--help")
    assert out.returncode == 0 and "reference" in out.stdout and "data" in out.stdout
    code = ("import sys; from flowcheck.cli.main import build_parser; build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: flowcheck" in capsys.readouterr().out


def test_data_generate(tmp_path):
    assert main(["data", "generate", "--seed", "1", "--per-task", "2", "--out", str(tmp_path / "d")]) == 0
    rows = (tmp_path / "d" / "questions.jsonl").read_text().splitlines()
    assert len(rows) == 12 and len(list((tmp_path / "d" / "images").glob("*.png"))) == 12


@pytest.mark.parametrize("args, message", [
    (["data", "generate", "--seed", "one", "--out", "x"], "--seed must be an integer, got 'one'"),
    (["data", "generate", "--seed", "1", "--tasks", "ChooseAttr,Colour", "--out", "x"],
     "unknown task type 'Colour'; valid task types: ChooseAttr"),
    (["reference", "train", "--seed", "1.5", "--out", "x"], "--seed must be an integer"),
])
def test_usage_errors_exit_2_and_say_what_to_do(args, message):
    out = run(*args)
    assert out.returncode == 2 and message in out.stderr


def test_unwritable_out_exits_2(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("")
    out = run("data", "generate", "--seed", "1", "--per-task", "1", "--out", str(blocker / "d"))
    assert out.returncode == 2 and "choose a writable folder" in out.stderr


def test_eval_missing_model_exits_2(tmp_path):
    out = run("reference", "eval", "--model", str(tmp_path / "nope"))
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_eval_json(tmp_path):
    out = run("reference", "eval", "--per-task", "5", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["n"] == 30 and set(result["accuracy"]) >= {"ChooseAttr", "all"}


def test_sweep_on_a_model_folder(tmp_path):
    """A random-weight model folder: the sweep runs, self-checks pass, JSON is written."""
    from dataclasses import replace

    from flowcheck.models.fixtures.tiny import ReferenceSpec, build_model, build_processor
    spec = replace(ReferenceSpec(), text_layers=3)
    processor = build_processor(spec)
    build_model(spec, processor.tokenizer, 0).save_pretrained(tmp_path / "m")
    processor.save_pretrained(tmp_path / "m")
    out = run("sweep", "--model", str(tmp_path / "m"), "--samples-per-task", "1", "--tasks",
              "ChooseAttr,QueryAttr", "--out", str(tmp_path / "r"), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert all(summary["self_checks"].values())
    assert set(summary["tasks"]) == {"ChooseAttr", "QueryAttr"}
    assert (tmp_path / "r" / "sweep.json").is_file()
    # measured by the runner into a run folder: a rerun resumes (measures nothing) and agrees
    rows = (tmp_path / "r" / "results.jsonl").read_text()
    assert len(rows.splitlines()) == 2
    again = run("sweep", "--model", str(tmp_path / "m"), "--samples-per-task", "1", "--tasks",
                "ChooseAttr,QueryAttr", "--out", str(tmp_path / "r"), "--json")
    assert again.returncode == 0 and json.loads(again.stdout) == summary
    assert (tmp_path / "r" / "results.jsonl").read_text() == rows


def test_bench_rejects_unknown_flow():
    out = run("bench", "--flows", "image->lats")
    assert out.returncode == 2 and "did you mean 'image->last'" in out.stderr


def test_check_route_needs_a_planted_route():
    """The plain reference model has no route in its card: say so and how to pass one."""
    out = run("reference", "check-route", "--model", "reference")
    assert out.returncode == 2
    assert "has no planted route in its card; pass --route paper|direct" in out.stderr


def test_train_refuses_a_bad_learning_rate(tmp_path):
    out = run("reference", "train", "--lr", "5", "--out", str(tmp_path))
    assert out.returncode == 2 and "--lr must be a learning rate between 0 and 1, got 5.0" in out.stderr


def test_every_command_shows_examples_that_parse():
    """Each command's help ends with examples, and each example is a valid command line."""
    import shlex

    from flowcheck.cli.main import COMMANDS, build_parser
    parser = build_parser()
    for module in COMMANDS:
        assert module.EXAMPLES, module.__name__
        for example in module.EXAMPLES:
            argv = shlex.split(example)
            assert argv[0] == "flowcheck"
            args = parser.parse_args(argv[1:])
            assert callable(args.func), example
    from flowcheck.reference.cli import build_parser as reference_parser
    for line in reference_parser().epilog.splitlines()[1:]:  # after "Examples:"
        argv = shlex.split(line.strip())
        assert argv[:2] == ["flowcheck", "reference"] and reference_parser().parse_args(argv[2:]).func


def test_ls_models_json_lists_every_family():
    import contextlib
    import io

    from flowcheck.models.adapters import ADAPTERS
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["ls", "models", "--json"]) == 0
    data = json.loads(out.getvalue())
    families = {f["family"]: f for f in data["families"]}
    assert set(families) == {cls.family for cls in ADAPTERS.values()} | {"generic"} == {
        "llava", "llava_next", "qwen2_vl", "qwen2_5_vl", "qwen3_vl", "internvl", "llava_onevision",
        "gemma3", "smolvlm", "generic"}
    assert set(data["refused"]) == {"MllamaForConditionalGeneration", "PaliGemmaForConditionalGeneration",
                                    "InternVLChatModel"}
    assert families["gemma3"]["note"].startswith("image tokens attend to each other both ways")
    generic = families["generic"]
    assert generic["engines"] == ["exact"] and generic["token_groups"] == ["image", "question", "last"]
    assert generic["claims"]["other_patches_early_related_middle"].startswith(
        "not applicable: no image layout")
    assert families["qwen2_5_vl"]["engines"] == ["fast", "exact"]
    nxt = families["llava_next"]
    assert nxt["hf_class"] == "LlavaNextForConditionalGeneration" and "newline->question" in nxt["flows"]
    assert nxt["checkpoints"]["llava-hf/llama3-llava-next-8b-hf"]["prompt_template"] == "llava_llama_3"
    assert "newline" not in families["llava"]["token_groups"]
    assert set(families["llava"]["claims"].values()) == {"applies"}
    qwen = families["qwen2_vl"]
    assert qwen["hf_class"] == "Qwen2VLForConditionalGeneration"
    assert qwen["checkpoints"]["Qwen/Qwen2-VL-2B-Instruct"] == {"prompt_template": "qwen2_vl", "layers": 28,
                                                                "default_k": 7}
    assert set(qwen["claims"].values()) == {"applies"}


@pytest.mark.slow
def test_a_qwen2_vl_fixture_runs_end_to_end_with_self_checks_passed(tmp_path):
    """Written with the stock classes, loaded offline as a Qwen2-VL folder would be (its image
    processor and tokenizer; without torchvision, without the video processor)."""
    assert main(["fixtures", "--out", str(tmp_path / "fx"), "--checkpoint", "qwen2-vl-2b"]) == 0
    folder = tmp_path / "fx" / "qwen2-vl-2b"
    assert json.loads((folder / "processor_config.json").read_text())["processor_class"] == "Qwen2VLProcessor"
    code = main(["run", "--model", str(folder), "--max-samples", "2", "--out", str(tmp_path / "run")])
    assert code == 1  # random weights: nothing answered correctly, never a pass
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["family"] == "qwen2_vl" and meta["n_layers"] == 28
    assert meta["adapter"] == {"family": "qwen2_vl", "prompt": "qwen2_vl", "preprocess": "paper"}
    assert set(meta["self_checks"].values()) == {"passed"} and len(meta["self_checks"]) >= 5
    assert meta["random_weights"]["stands_for"] == "Qwen/Qwen2-VL-2B-Instruct"


@pytest.mark.slow
def test_a_next_fixture_runs_end_to_end_marked_random(tmp_path):
    """flowcheck fixtures + flowcheck run on the folder, loaded as the real checkpoint would be."""
    assert main(["fixtures", "--out", str(tmp_path / "fx"), "--checkpoint", "llama3-llava-next-8b"]) == 0
    code = main(["run", "--model", str(tmp_path / "fx" / "llama3-llava-next-8b"), "--max-samples", "1",
                 "--tasks", "QueryAttr", "--out", str(tmp_path / "run")])
    assert code == 1  # random weights answer nothing correctly: inconclusive, never a pass
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["random_weights"]["stands_for"] == "llava-hf/llama3-llava-next-8b-hf"
    assert meta["adapter"] == {"family": "llava_next", "prompt": "llava_llama_3", "preprocess": "paper"}
    assert set(meta["self_checks"].values()) == {"passed"} and len(meta["self_checks"]) >= 5
    assert meta["layout_notes"]["original_code_differs"]  # 64x64 images: a pinpoint tie
    assert "random weights: engine check only" in (tmp_path / "run" / "summary.md").read_text()
    verdicts = json.loads((tmp_path / "run" / "verdicts.json").read_text())
    assert {t["status"] for claim in verdicts.values() for t in claim["tasks"].values()} == {"inconclusive"}


def test_run_offers_every_registered_prompt_template():
    """The --prompt choices come from the template registry (qwen2_vl was registered but could
    not be chosen when the list was written out in the command), and 'chat', the checkpoint's own
    chat template (the README named it before the command took it)."""
    from flowcheck.cli.main import build_parser
    from flowcheck.models.prompts import PROMPTS
    run_parser = build_parser()._subparsers._group_actions[0].choices["run"]
    prompt = next(a for a in run_parser._actions if "--prompt" in a.option_strings)
    assert list(prompt.choices) == [*PROMPTS, "chat"]


def test_the_run_settings_take_every_prompt_the_command_offers():
    from flowcheck.errors import UsageError
    from flowcheck.models.prompts import prompt_names
    from flowcheck.runs.settings import RunSettings
    for name in prompt_names():
        assert RunSettings.create(prompt=name).prompt == name
    with pytest.raises(UsageError, match="--prompt must be one of|prompt must be one of"):
        RunSettings.create(prompt="chatml")
