"""One renderer per media kind behind the `Renderer` protocol; `registry()` builds them explicitly."""
