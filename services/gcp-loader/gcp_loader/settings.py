"""The loader's one settings model (env prefix WATTLINE_), validated once at cold start. It lives in the shared
package (`wattline.stages`) because the local runtime builds its loader from the same model."""

from __future__ import annotations

from wattline.stages import LoaderSettings

__all__ = ["LoaderSettings"]
