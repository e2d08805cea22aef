-- The replies poller looks for citizens' messages not fetched yet every round: by event type,
-- not by scanning every status event ever kept.
CREATE INDEX suomifi_events_by_type ON suomifi_events (event_type, message_id);
