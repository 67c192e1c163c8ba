"""nianbao: Chinese government information-disclosure annual reports → trustworthy data."""

__version__ = "0.1.0"
