-- Every R2 object a row stops pointing at is queued in storage_deletions, by triggers rather than
-- application code, so deletes through cascades (account deletion, onboarding purge) and any
-- future code path queue their files too. The storage clean-up cron drains the queue.

CREATE FUNCTION queue_photo_objects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
    RETURN NULL;
  END IF;
  INSERT INTO storage_deletions (bucket, object_key)
  SELECT 'images', k FROM unnest(ARRAY[
    'original-' || OLD.id || '.jpg',
    '900-' || OLD.id || '.jpg',
    '450-' || OLD.id || '.jpg',
    CASE WHEN OLD.is_gif THEN OLD.id || '.gif' END
  ]) AS k WHERE k IS NOT NULL
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER photos_queue_objects AFTER DELETE OR UPDATE OF id ON photos
  FOR EACH ROW EXECUTE FUNCTION queue_photo_objects();--> statement-breakpoint

CREATE FUNCTION queue_voice_bio_object() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.object_key = OLD.object_key THEN
    RETURN NULL;
  END IF;
  INSERT INTO storage_deletions (bucket, object_key) VALUES ('audio', OLD.object_key)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER voice_bios_queue_object AFTER DELETE OR UPDATE OF object_key ON voice_bios
  FOR EACH ROW EXECUTE FUNCTION queue_voice_bio_object();--> statement-breakpoint

CREATE FUNCTION queue_selfie_object() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.selfie_id = OLD.selfie_id THEN
    RETURN NULL;
  END IF;
  INSERT INTO storage_deletions (bucket, object_key) VALUES ('images', '450-' || OLD.selfie_id || '.jpg')
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER verifications_queue_selfie AFTER DELETE OR UPDATE OF selfie_id ON verifications
  FOR EACH ROW EXECUTE FUNCTION queue_selfie_object();
