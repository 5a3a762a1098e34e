-- A voice message's recording is queued for deletion from the audio bucket when its message row
-- goes (including through the cascades of account and conversation deletion), like the objects
-- of photos and voice bios (0005). The storage clean-up re-checks messages.audio_key first.
CREATE FUNCTION queue_message_audio() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.audio_key IS NULL OR (TG_OP = 'UPDATE' AND NEW.audio_key IS NOT DISTINCT FROM OLD.audio_key) THEN
    RETURN NULL;
  END IF;
  INSERT INTO storage_deletions (bucket, object_key) VALUES ('audio', OLD.audio_key)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER messages_queue_audio AFTER DELETE OR UPDATE OF audio_key ON messages
  FOR EACH ROW EXECUTE FUNCTION queue_message_audio();
