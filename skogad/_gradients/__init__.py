"""The gradient engine: per-sample loss gradients of a torch module.

Torch only: nothing here imports scikit-learn or skorch (a test pins it).

- `skogad._gradients.engine`: selection of parameters, chunking, devices,
  norms, and the dispatch between the two exact methods below;
- `skogad._gradients.factors`: closed forms for ``nn.Linear`` layers (each
  gradient an outer product of two factors);
- `skogad._gradients.projection`: random projections of the gradients.
"""
