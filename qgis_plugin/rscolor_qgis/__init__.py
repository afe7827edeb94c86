"""QGIS plugin: the rscolor Processing provider ("Colorize panchromatic raster")."""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    """QGIS entry point (iface is None under qgis_process)."""
    from .plugin import RscolorPlugin

    return RscolorPlugin(iface)
