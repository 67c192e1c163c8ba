"""The review web page and REST service (``nianbao serve``) and the corrections export."""

from nianbao.app.corrections import export_corrections
from nianbao.app.service import create_app, serve
from nianbao.app.settings import AppSettings

__all__ = ["AppSettings", "create_app", "export_corrections", "serve"]
