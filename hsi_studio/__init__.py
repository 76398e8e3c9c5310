"""HSI Studio: RGB -> 31-band hyperspectral reconstruction (ULDM), exploration and relighting."""

__version__ = "0.1.0"
