"""Rasa's SQL event broker, writing to `analytics_events`.

endpoints.yml: `event_broker: {type: grace.event_broker.AnalyticsEventBroker, url: ${DATABASE_URL}}`.

In the scaled profile the broker shares the database with Rasa's SQL tracker store, and both of
Rasa's classes name their table `events` with different columns: the broker's rows would break the
tracker's table. Same rows (id, sender_id, data: the event as JSON), a table of its own.
"""
from __future__ import annotations

from rasa.core.brokers.sql import SQLEventBroker
from sqlalchemy import Column, Integer, String, Text
from sqlalchemy.orm import declarative_base


class AnalyticsEventBroker(SQLEventBroker):
    Base = declarative_base()

    class SQLBrokerEvent(Base):
        __tablename__ = "analytics_events"
        id = Column(Integer, primary_key=True)
        sender_id = Column(String(255), index=True)
        data = Column(Text)
