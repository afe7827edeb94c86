"""Registers the provider, in the QGIS window and under qgis_process alike."""

from qgis.core import QgsApplication

from .provider import RscolorProvider


class RscolorPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider = None

    def initProcessing(self) -> None:  # noqa: N802 - QGIS's hook name
        self.provider = RscolorProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
