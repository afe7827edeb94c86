"""Processing algorithm "Colorize panchromatic raster": runs ``rscolor colorize``."""

from pathlib import Path

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from . import runner


def layer_file(layer) -> Path:
    """The file behind a GDAL raster layer (without any '|option' suffix)."""
    if layer is None or layer.providerType() != "gdal":
        raise QgsProcessingException("the input must be a file-based (GDAL) raster layer")
    path = Path(layer.source().split("|")[0])
    if not path.is_file():
        raise QgsProcessingException(f"the input layer is not a local file: {layer.source()}")
    return path


class ColorizePanchromatic(QgsProcessingAlgorithm):
    INPUT, BAND, SCALE, SATURATION = "INPUT", "BAND", "SCALE", "SATURATION"
    MODEL, RSCOLOR, OUTPUT = "MODEL", "RSCOLOR", "OUTPUT"

    def createInstance(self):  # noqa: N802 - QGIS's method names
        return ColorizePanchromatic()

    def name(self) -> str:
        return "colorize_panchromatic"

    def displayName(self) -> str:  # noqa: N802
        return "Colorize panchromatic raster"

    def shortHelpString(self) -> str:  # noqa: N802
        return (
            "Colorizes one band of a grayscale or panchromatic raster with an rscolor model "
            "and writes an RGB Cloud-Optimized GeoTIFF with the input's CRS, transform and "
            "nodata (as a mask). Working scale: 'auto' (from the model's training pixel size "
            "and the input's) or a factor, e.g. 0.25 for imagery 4x finer than the model's. "
            "rscolor runs from the environment set in Settings > Options > Processing > "
            "Providers > rscolor, or the 'rscolor executable' parameter."
        )

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Input raster"))
        self.addParameter(
            QgsProcessingParameterBand(
                self.BAND, "Band", defaultValue=1, parentLayerParameterName=self.INPUT
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.SCALE, "Working scale ('auto' or a factor such as 0.25)", defaultValue="auto"
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.SATURATION,
                "Saturation (empty: the model's own; below 1 muted, above 1 vivid)",
                type=QgsProcessingParameterNumber.Double,
                minValue=0.0,
                maxValue=4.0,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.MODEL,
                "Model file (.pt or .onnx; empty: the shipped model)",
                optional=True,
                fileFilter="rscolor models (*.pt *.onnx)",
            )
        )
        executable = QgsProcessingParameterFile(
            self.RSCOLOR, "rscolor executable or environment (empty: the provider setting)",
            optional=True, fileFilter="All files (*)",  # executables have no extension
        )  # fmt: skip
        executable.setFlags(executable.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(executable)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Colorized raster"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from .provider import executable_setting

        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        saturation = None
        if parameters.get(self.SATURATION) not in (None, ""):
            saturation = self.parameterAsDouble(parameters, self.SATURATION, context)
        job = runner.Job(
            source=layer_file(layer),
            band=self.parameterAsInt(parameters, self.BAND, context) or 1,
            scale=self.parameterAsString(parameters, self.SCALE, context) or "auto",
            saturation=saturation,
            model=self.parameterAsFile(parameters, self.MODEL, context) or None,
        )
        destination = Path(self.parameterAsOutputLayer(parameters, self.OUTPUT, context))
        try:
            executable = runner.resolve_executable(
                self.parameterAsFile(parameters, self.RSCOLOR, context), executable_setting()
            )
            runner.run(
                executable, job, destination,
                on_progress=feedback.setProgress, on_line=feedback.pushInfo,
                is_canceled=feedback.isCanceled,
            )  # fmt: skip
        except runner.RscolorError as exc:
            raise QgsProcessingException(str(exc)) from None
        if context.willLoadLayerOnCompletion(str(destination)):
            details = context.layerToLoadOnCompletionDetails(str(destination))
            details.name = f"{layer.name()} (colorized)"
        return {self.OUTPUT: str(destination)}

    def group(self) -> str:
        return ""

    def groupId(self) -> str:  # noqa: N802
        return ""
