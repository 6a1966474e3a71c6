"""What a run ran on, recorded in run.json: versions, device, GPU name."""
from __future__ import annotations

import platform


def environment(device: str) -> dict:
    import torch
    import transformers
    env = {"python": platform.python_version(), "platform": platform.platform(),
           "torch": torch.__version__, "cuda": torch.version.cuda, "transformers": transformers.__version__,
           "device": device}
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        env["gpu"] = torch.cuda.get_device_name(index)
        env["gpu_memory_bytes"] = torch.cuda.get_device_properties(index).total_memory
        env["cudnn"] = torch.backends.cudnn.version()
    return env
