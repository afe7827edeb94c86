"""rscolor: colorize grayscale remote-sensing images.

The library is usable from Python; the ``rscolor`` command is a thin layer over it::

    from rscolor.inference import load_colorizer
    colorizer = load_colorizer()          # the model shipped in the package
    rgb = colorizer.colorize(gray)        # gray: HxW float in [0, 1]
"""

__version__ = "0.1.0"
