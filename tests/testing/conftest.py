"""pytester's in-process runs remove, afterwards, every module first imported inside them.
C extensions (torch, tokenizers, safetensors, matplotlib) cannot be imported twice in one
process ("SystemError: ... bad call flags", then a segfault), so everything a flowcheck run
imports is imported here, before any in-process run, whatever order the tiers run in."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot  # noqa: E402,F401
import PIL.Image  # noqa: E402,F401
import safetensors.torch  # noqa: E402,F401
import tokenizers  # noqa: E402,F401
import torch  # noqa: E402,F401
import transformers.models.clip.modeling_clip  # noqa: E402,F401
import transformers.models.llama.modeling_llama  # noqa: E402,F401
import transformers.models.llava.modeling_llava  # noqa: E402,F401
