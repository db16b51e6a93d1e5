"""``ember_vision.ops``: mirrors ``torchvision.ops`` — box operations, NMS, RoI align/pool,
focal loss and the building blocks torchvision's models use."""
from .boxes import (batched_nms, box_area, box_convert, box_iou, clip_boxes_to_image,
                    complete_box_iou, distance_box_iou, generalized_box_iou, masks_to_boxes,
                    nms, remove_small_boxes)
from .focal_loss import sigmoid_focal_loss
from .giou_loss import generalized_box_iou_loss
from .misc import (MLP, Conv2dNormActivation, Conv3dNormActivation, FrozenBatchNorm2d,
                   Permute, SqueezeExcitation)
from .roi import RoIAlign, RoIPool, roi_align, roi_pool
from .stochastic_depth import StochasticDepth, stochastic_depth

__all__ = ["masks_to_boxes", "nms", "batched_nms", "remove_small_boxes",
           "clip_boxes_to_image", "box_convert", "box_area", "box_iou", "generalized_box_iou",
           "distance_box_iou", "complete_box_iou", "roi_align", "RoIAlign", "roi_pool",
           "RoIPool", "sigmoid_focal_loss", "stochastic_depth", "StochasticDepth",
           "FrozenBatchNorm2d", "Conv2dNormActivation", "Conv3dNormActivation",
           "SqueezeExcitation", "MLP", "Permute", "generalized_box_iou_loss"]
