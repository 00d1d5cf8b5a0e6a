"""TransNetV2 (Souček & Lokoč, 2020), the shot-transition network, for inference.

``weights``: where the weights come from and one loaded network per process;
``fused``: the network rebuilt for cheaper inference; ``infer``: windows of frames in,
cut frames out.
"""

from mediakit.transnet.weights import TransNetConfig, find_weights, select_torch_device

__all__ = ["TransNetConfig", "find_weights", "select_torch_device"]
