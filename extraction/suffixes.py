"""The file names the readers take, apart from the readers: the command line walks folders by them
without importing a PDF or image library."""

from __future__ import annotations

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}  # page images, read as scans
SUFFIXES = IMAGE_SUFFIXES | {
    ".pdf",
    ".md",
    ".markdown",
    ".txt",
    ".text",
    ".html",
    ".htm",
    ".shtml",
    ".xhtml",
    ".docx",
    ".tsv",
    ".csv",
}
