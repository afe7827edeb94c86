"""The rscolor Processing provider and its one setting: where rscolor lives."""

from qgis.core import QgsProcessingProvider

from .algorithm import ColorizePanchromatic

SETTING = "RSCOLOR_EXECUTABLE"


def _config():
    """Processing's settings store (the Processing plugin ships with QGIS); None if absent."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig, Setting
    except ImportError:  # pragma: no cover - Processing is part of every QGIS install
        return None, None
    return ProcessingConfig, Setting


def executable_setting() -> str:
    """The rscolor executable or environment folder set in the Processing options."""
    config, _ = _config()
    return str(config.getSetting(SETTING) or "") if config else ""


class RscolorProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "rscolor"

    def name(self) -> str:
        return "rscolor"

    def longName(self) -> str:  # noqa: N802 - QGIS's method names
        return "rscolor: colorize grayscale remote-sensing images"

    def load(self) -> bool:
        config, setting = _config()
        if config is not None:
            config.settingIcons[self.name()] = self.icon()
            config.addSetting(
                setting(
                    self.name(),
                    SETTING,
                    "rscolor executable, or the Python environment (venv/conda) holding it",
                    "",
                    valuetype=setting.FILE,
                )
            )
            config.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        config, _ = _config()
        if config is not None:
            config.removeSetting(SETTING)

    def supportedOutputRasterLayerExtensions(self) -> list[str]:  # noqa: N802
        return ["tif", "tiff"]  # rscolor writes (Cloud-Optimized) GeoTIFFs only

    def defaultRasterFileExtension(self) -> str:  # noqa: N802
        return "tif"

    def loadAlgorithms(self) -> None:  # noqa: N802
        self.addAlgorithm(ColorizePanchromatic())
