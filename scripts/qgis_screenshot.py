"""The docs/qgis.md screenshot: QGIS runs the plugin's algorithm from its own dialog.

Run inside QGIS (not with rscolor's Python), on a virtual screen, the plugin enabled:

    QGIS_PLUGINPATH=$PWD/qgis_plugin qgis_process.bin plugins enable rscolor_qgis
    SHOT_INPUT=pan.tif SHOT_OUT=shot.png RSCOLOR_ENV=$PWD/.venv QGIS_PLUGINPATH=$PWD/qgis_plugin \\
        xvfb-run -a -s "-screen 0 1680x1000x24" qgis --nologo --code scripts/qgis_screenshot.py

It loads SHOT_INPUT, opens "Colorize panchromatic raster" with it, presses Run, waits for
the result layer, zooms to it, saves the screen to SHOT_OUT and quits.
"""

import os

import processing
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication
from qgis.utils import iface

ALG = "rscolor:colorize_panchromatic"
SOURCE = os.environ["SHOT_INPUT"]
RESULT = os.path.splitext(SOURCE)[0] + "_colorized.tif"
dialogs = []


def save_and_quit() -> None:
    QApplication.primaryScreen().grabWindow(0).save(os.environ["SHOT_OUT"])
    QTimer.singleShot(500, QApplication.instance().quit)


def when_loaded() -> None:
    if os.path.exists(RESULT) and len(iface.mapCanvas().layers()) > 1:
        iface.mapCanvas().zoomToFullExtent()
        iface.mapCanvas().refresh()
        QTimer.singleShot(4000, save_and_quit)
    else:
        QTimer.singleShot(1000, when_loaded)


def start() -> None:
    iface.mainWindow().showMaximized()
    layer = iface.addRasterLayer(SOURCE, os.path.basename(os.path.splitext(SOURCE)[0]))
    params = {"INPUT": layer, "BAND": 1, "SCALE": os.environ.get("SHOT_SCALE", "auto"),
              "RSCOLOR": os.environ.get("RSCOLOR_ENV", ""), "OUTPUT": RESULT}  # fmt: skip
    dialog = processing.createAlgorithmDialog(ALG, params)
    dialogs.append(dialog)
    dialog.show()
    dialog.resize(760, 560)
    dialog.move(900, 160)
    QTimer.singleShot(2000, dialog.runAlgorithm)
    QTimer.singleShot(3000, when_loaded)


QTimer.singleShot(4000, start)
