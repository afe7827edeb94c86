"""A human perception study of colorizations: the paper's AMT protocol (Sec. 4.3).

``plan`` picks the images and builds the SQLite study (``db``), ``app`` serves the rating
pages, ``report`` turns the ratings into AMT scores with confidence intervals.
"""
