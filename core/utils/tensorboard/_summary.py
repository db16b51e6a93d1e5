"""Summary protobufs for the TensorBoard writer, built with the ``tensorboard`` package's
own protos (as ``torch.utils.tensorboard.summary`` does): scalars, histograms, images,
text, hparams."""
from __future__ import annotations

import io

import numpy as np
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

__all__ = ["make_np", "scalar", "histogram", "image", "text", "hparams", "convert_to_hwc"]


def make_np(x) -> np.ndarray:
    """A numpy array from an ember tensor, a numpy array or a Python number."""
    from ..._tensor import Tensor
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (int, float, np.number)):
        return np.array([x])
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy"):  # e.g. a torch tensor handed over by mistake: take its values
        return np.asarray(x.numpy())
    raise NotImplementedError(f"Got {type(x)}, but numpy array or ember tensor are expected.")


def scalar(tag: str, value, new_style: bool = False) -> Summary:
    arr = make_np(value).squeeze()
    if arr.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given "
                             f"size: {arr.size} and {arr.ndim} dimensions.")
    v = float(arr)
    if new_style:
        tp = TensorProto(float_val=[v], dtype="DT_FLOAT")
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
        return Summary(value=[Summary.Value(tag=tag, tensor=tp, metadata=meta)])
    return Summary(value=[Summary.Value(tag=tag, simple_value=v)])


def _tf_buckets() -> np.ndarray:
    """TensorFlow's default histogram bucket limits (exponential, factor 1.1, both signs),
    which ``bins='tensorflow'`` means in PyTorch."""
    pos = [1e-12]
    while pos[-1] < 1e20:
        pos.append(pos[-1] * 1.1)
    pos = np.array(pos)
    return np.concatenate([-pos[::-1], [0.0], pos])


def histogram(tag: str, values, bins="tensorflow", max_bins=None) -> Summary:
    arr = make_np(values).astype(np.float64).ravel()
    if arr.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    if isinstance(bins, str) and bins == "tensorflow":
        edges = _tf_buckets()
        counts, edges = np.histogram(arr, bins=edges)
    else:
        counts, edges = np.histogram(arr, bins=bins)
    # drop empty buckets at both ends as TensorBoard does
    nz = np.nonzero(counts)[0]
    start, end = (nz[0], nz[-1] + 1) if nz.size else (0, len(counts))
    counts, limits = counts[start:end], edges[start + 1:end + 1]
    hist = HistogramProto(min=float(arr.min()), max=float(arr.max()), num=int(arr.size),
                          sum=float(arr.sum()), sum_squares=float((arr * arr).sum()),
                          bucket_limit=limits.tolist(), bucket=counts.astype(float).tolist())
    return Summary(value=[Summary.Value(tag=tag, histo=hist)])


def convert_to_hwc(arr: np.ndarray, dataformats: str) -> np.ndarray:
    """An HWC (or HW) image from ``dataformats`` (CHW, HWC, HW, NCHW, NHWC: a grid)."""
    dataformats = dataformats.upper()
    if len(set(dataformats)) != len(dataformats) or arr.ndim != len(dataformats):
        raise AssertionError(f"size of input tensor and input format are different. "
                             f"tensor shape: {arr.shape}, input_format: {dataformats}")
    if len(dataformats) == 4:
        arr = arr.transpose([dataformats.index(c) for c in "NCHW"])
        return _grid(arr).transpose(1, 2, 0)
    if len(dataformats) == 3:
        arr = arr.transpose([dataformats.index(c) for c in "HWC"])
        if arr.shape[2] == 1:
            arr = np.concatenate([arr, arr, arr], 2)
        return arr
    if len(dataformats) == 2:
        arr = arr.transpose([dataformats.index(c) for c in "HW"])
        return np.stack([arr, arr, arr], 2)
    raise AssertionError(f"unsupported dataformats {dataformats}")


def _grid(imgs: np.ndarray, ncols: int = 8) -> np.ndarray:
    """N images (NCHW) laid out in rows of ``ncols``, as PyTorch's ``make_grid`` for TB."""
    if imgs.shape[1] == 1:
        imgs = np.concatenate([imgs, imgs, imgs], 1)
    n, c, h, w = imgs.shape
    ncols = min(n, ncols)
    nrows = int(np.ceil(n / ncols))
    canvas = np.zeros((c, h * nrows, w * ncols), dtype=imgs.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = imgs[i]
    return canvas


def image(tag: str, arr, dataformats: str = "CHW") -> Summary:
    from PIL import Image
    hwc = convert_to_hwc(make_np(arr), dataformats)
    # floats are taken as [0, 1] (scaled by 255), integers as [0, 255], as in PyTorch
    scale = 1 if hwc.dtype == np.uint8 else 255
    img = np.clip(hwc.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    h, w, c = img.shape
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    im = Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=buf.getvalue())
    return Summary(value=[Summary.Value(tag=tag, image=im)])


def figure_to_image(figure, close: bool = True) -> np.ndarray:
    """A matplotlib figure rendered to an HWC uint8 array (RGB)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    if close:
        plt.close(figure)
    return rgba[:, :, :3].copy()


def text(tag: str, text: str) -> Summary:
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
    tp = TensorProto(dtype="DT_STRING", string_val=[text.encode("utf-8")],
                     tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tp)])


def hparams(hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None):
    """(experiment, session start, session end) summaries for the HParams plugin."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams.api_pb2 import (DataType, Experiment, HParamInfo,
                                                     MetricInfo, MetricName, Status)
    from tensorboard.plugins.hparams.metadata import (EXPERIMENT_TAG, PLUGIN_DATA_VERSION,
                                                      PLUGIN_NAME, SESSION_END_INFO_TAG,
                                                      SESSION_START_INFO_TAG)
    from tensorboard.plugins.hparams.plugin_data_pb2 import (HParamsPluginData,
                                                             SessionEndInfo,
                                                             SessionStartInfo)
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing "
                        "logged.")
    for k, v in domains.items():
        if (k not in hparam_dict or not isinstance(v, list)
                or not all(isinstance(d, type(hparam_dict[k])) for d in v)):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same "
                            f"type as hparam_dict[{k}].")
    ssi = SessionStartInfo()
    infos = []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        from ..._tensor import Tensor
        if isinstance(v, Tensor):
            v = make_np(v)[0]
        if isinstance(v, bool):
            ssi.hparams[k].bool_value = v
            kind, vals = "DATA_TYPE_BOOL", [struct_pb2.Value(bool_value=d)
                                             for d in domains.get(k, [])]
        elif isinstance(v, (int, float)):
            ssi.hparams[k].number_value = v
            kind, vals = "DATA_TYPE_FLOAT64", [struct_pb2.Value(number_value=d)
                                                for d in domains.get(k, [])]
        elif isinstance(v, str):
            ssi.hparams[k].string_value = v
            kind, vals = "DATA_TYPE_STRING", [struct_pb2.Value(string_value=d)
                                               for d in domains.get(k, [])]
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        infos.append(HParamInfo(name=k, type=DataType.Value(kind),
                                domain_discrete=struct_pb2.ListValue(values=vals)
                                if k in domains else None))

    def _summary(tag, **plugin_field):
        content = HParamsPluginData(version=PLUGIN_DATA_VERSION, **plugin_field)
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME, content=content.SerializeToString()))
        return Summary(value=[Summary.Value(tag=tag, metadata=meta)])

    exp = Experiment(hparam_infos=infos, metric_infos=[
        MetricInfo(name=MetricName(tag=k)) for k in metric_dict])
    sei = SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))
    return (_summary(EXPERIMENT_TAG, experiment=exp),
            _summary(SESSION_START_INFO_TAG, session_start_info=ssi),
            _summary(SESSION_END_INFO_TAG, session_end_info=sei))
