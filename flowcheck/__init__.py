"""flowcheck: test the cross-modal information-flow claims of Zhang et al. (CVPR 2025)
against a multimodal model, as pytest assertions with snapshot reports."""

__version__ = "0.1.0"
