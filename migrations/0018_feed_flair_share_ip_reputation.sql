-- Share-link ids: 12 base-62 characters from the random bytes of a v4 UUID (the version and
-- variant bytes skipped), about 71 random bits, so ids cannot be guessed or enumerated.
CREATE FUNCTION random_public_id() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(
    substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', get_byte(r.b, i) % 62 + 1, 1),
    '' ORDER BY i)
  FROM (SELECT uuid_send(gen_random_uuid()) AS b) r,
    unnest(ARRAY[0, 1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 13]) AS i
$$;--> statement-breakpoint
CREATE TYPE "public"."feed_event_kind" AS ENUM('added-photo', 'added-voice-bio', 'updated-bio');--> statement-breakpoint
CREATE TABLE "feed_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "feed_event_kind" NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"photo_id" text,
	"voice_bio_id" text,
	"added_text" text
);
--> statement-breakpoint
CREATE TABLE "ip_reputation_lists" (
	"name" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"content_hash" text NOT NULL,
	"ranges" integer NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ip_reputation_ranges" (
	"list" text NOT NULL,
	"range" "cidr" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "last_event_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "last_event_id" bigint;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "flair" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "public_id" text DEFAULT random_public_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "feed_events" ADD CONSTRAINT "feed_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "feed_events_user_idx" ON "feed_events" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "feed_events_photo_idx" ON "feed_events" USING btree ("photo_id") WHERE "feed_events"."photo_id" is not null;--> statement-breakpoint
CREATE INDEX "feed_events_voice_bio_idx" ON "feed_events" USING btree ("voice_bio_id") WHERE "feed_events"."voice_bio_id" is not null;--> statement-breakpoint
CREATE INDEX "ip_reputation_ranges_range_idx" ON "ip_reputation_ranges" USING gist ("range" inet_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "profiles_public_id_key" ON "profiles" USING btree ("public_id");--> statement-breakpoint
CREATE INDEX "profiles_last_event_idx" ON "profiles" USING btree ("last_event_at") WHERE "profiles"."onboarded_at" is not null and "profiles"."shadow_banned_at" is null;
--> statement-breakpoint

-- The activity feed. profiles.last_event_at/last_event_id always describe the member's latest
-- remaining event; "joined" (no row) at onboarded_at when none remains. Photo and voice-bio
-- events are written and removed here, with their rows, so no code path can forget them.

CREATE FUNCTION profiles_joined_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.onboarded_at IS NOT NULL AND NEW.last_event_at IS NULL THEN
    NEW.last_event_at := NEW.onboarded_at;
  END IF;
  RETURN NEW;
END $$;--> statement-breakpoint
CREATE TRIGGER profiles_joined_event BEFORE INSERT OR UPDATE OF onboarded_at ON profiles
  FOR EACH ROW EXECUTE FUNCTION profiles_joined_event();--> statement-breakpoint

CREATE FUNCTION feed_event_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE profiles SET last_event_at = NEW.at, last_event_id = NEW.id WHERE user_id = NEW.user_id;
  -- Keep the latest 20 per member: enough to fall back through deletions.
  DELETE FROM feed_events WHERE user_id = NEW.user_id AND id <= (
    SELECT id FROM feed_events WHERE user_id = NEW.user_id ORDER BY id DESC OFFSET 20 LIMIT 1);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER feed_events_added AFTER INSERT ON feed_events
  FOR EACH ROW EXECUTE FUNCTION feed_event_added();--> statement-breakpoint

CREATE FUNCTION feed_event_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE profiles p SET last_event_id = e.id, last_event_at = coalesce(e.at, p.onboarded_at)
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT id, at FROM feed_events
    WHERE user_id = OLD.user_id ORDER BY id DESC LIMIT 1) e ON true
  WHERE p.user_id = OLD.user_id AND p.last_event_id = OLD.id;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER feed_events_removed AFTER DELETE ON feed_events
  FOR EACH ROW EXECUTE FUNCTION feed_event_removed();--> statement-breakpoint

CREATE FUNCTION photo_feed_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM feed_events WHERE photo_id = OLD.id;
  END IF;
  -- Photos added while onboarding are part of joining.
  IF TG_OP IN ('INSERT', 'UPDATE')
    AND EXISTS (SELECT 1 FROM profiles WHERE user_id = NEW.user_id AND onboarded_at IS NOT NULL) THEN
    INSERT INTO feed_events (user_id, kind, at, photo_id) VALUES (NEW.user_id, 'added-photo', now(), NEW.id);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER photos_feed_event AFTER INSERT OR DELETE OR UPDATE OF id ON photos
  FOR EACH ROW EXECUTE FUNCTION photo_feed_event();--> statement-breakpoint

CREATE FUNCTION voice_bio_feed_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM feed_events WHERE voice_bio_id = OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE')
    AND EXISTS (SELECT 1 FROM profiles WHERE user_id = NEW.user_id AND onboarded_at IS NOT NULL) THEN
    INSERT INTO feed_events (user_id, kind, at, voice_bio_id)
    VALUES (NEW.user_id, 'added-voice-bio', now(), NEW.id);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER voice_bios_feed_event AFTER INSERT OR DELETE OR UPDATE OF id ON voice_bios
  FOR EACH ROW EXECUTE FUNCTION voice_bio_feed_event();--> statement-breakpoint

UPDATE profiles SET last_event_at = onboarded_at WHERE onboarded_at IS NOT NULL;
