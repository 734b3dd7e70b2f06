"""Figures that survive the people behind them: an anonymous record per application and a
daily snapshot of demand against free places (schema ``shared``), written by a daily job and
read through ``figures`` (the dashboards of issue #15). Reads the other domains' public models;
no domain reads this one but the retention purge (``services.record_requests``)."""

from flask import Flask

from .models import ApplicationRecord, DailyFigure, MonthlyFigure

__all__ = ["ApplicationRecord", "DailyFigure", "MonthlyFigure", "init_app"]



def init_app(app: Flask) -> None:
    from .. import jobs
    from .jobs import snapshot_everywhere

    jobs.register_periodic(app, snapshot_everywhere, daily_at="23:45")
