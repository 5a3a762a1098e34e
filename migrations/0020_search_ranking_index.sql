ALTER TABLE "profiles" ADD COLUMN "has_photo" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "wants_genders" "gender"[];--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "wants_min_age" smallint;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "wants_max_age" smallint;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "wants_max_distance_km" integer;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "search_tier" smallint GENERATED ALWAYS AS ((case when has_photo then 2 else 0 end + case when verification_level <> 'none' then 1 else 0 end)) STORED;--> statement-breakpoint
-- Search ranks candidates by (has a photo, verified, match %, id) over every eligible member
-- (src/services/search/query.ts). To do that at a million members without a lookup per
-- candidate, the facts other members' searches test are copied onto the profile row and kept
-- there by the triggers below: has_photo (a photo at a position > 0) and the member's own mutual
-- conditions from search_preferences (wants_*; null without a preferences row). search_tier, a
-- generated column, is the ranking's tier from has_photo and verification_level.
CREATE FUNCTION profile_has_photo_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- AFTER ROW triggers run once the statement is done, so a reorder that moves photos through
  -- negative positions is seen in its final state.
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE profiles p SET has_photo = x.has
    FROM (SELECT exists (SELECT 1 FROM photos WHERE user_id = OLD.user_id AND position > 0) AS has) x
    WHERE p.user_id = OLD.user_id AND p.has_photo IS DISTINCT FROM x.has;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    UPDATE profiles p SET has_photo = x.has
    FROM (SELECT exists (SELECT 1 FROM photos WHERE user_id = NEW.user_id AND position > 0) AS has) x
    WHERE p.user_id = NEW.user_id AND p.has_photo IS DISTINCT FROM x.has;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER photos_has_photo AFTER INSERT OR DELETE OR UPDATE OF position, user_id ON photos
  FOR EACH ROW EXECUTE FUNCTION profile_has_photo_sync();--> statement-breakpoint
CREATE FUNCTION profile_wants_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE profiles SET wants_genders = NULL, wants_min_age = NULL, wants_max_age = NULL,
      wants_max_distance_km = NULL
    WHERE user_id = OLD.user_id AND wants_genders IS NOT NULL;
    RETURN NULL;
  END IF;
  UPDATE profiles SET wants_genders = NEW.genders, wants_min_age = NEW.min_age,
    wants_max_age = NEW.max_age, wants_max_distance_km = NEW.max_distance_km
  WHERE user_id = NEW.user_id
    AND (wants_genders, wants_min_age, wants_max_age, wants_max_distance_km)
      IS DISTINCT FROM (NEW.genders, NEW.min_age, NEW.max_age, NEW.max_distance_km);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER search_preferences_wants AFTER INSERT OR DELETE OR UPDATE OF genders, min_age, max_age, max_distance_km
  ON search_preferences FOR EACH ROW EXECUTE FUNCTION profile_wants_sync();--> statement-breakpoint
-- A profile written after its photos or preferences (a restore, a re-created row) picks them up.
CREATE FUNCTION profile_search_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.has_photo := exists (SELECT 1 FROM photos WHERE user_id = NEW.user_id AND position > 0);
  SELECT genders, min_age, max_age, max_distance_km
    INTO NEW.wants_genders, NEW.wants_min_age, NEW.wants_max_age, NEW.wants_max_distance_km
  FROM search_preferences WHERE user_id = NEW.user_id;
  RETURN NEW;
END $$;--> statement-breakpoint
CREATE TRIGGER profiles_search_copy BEFORE INSERT ON profiles
  FOR EACH ROW EXECUTE FUNCTION profile_search_copy();--> statement-breakpoint
UPDATE profiles p SET has_photo = exists (SELECT 1 FROM photos ph WHERE ph.user_id = p.user_id AND ph.position > 0),
  wants_genders = sp.genders, wants_min_age = sp.min_age, wants_max_age = sp.max_age,
  wants_max_distance_km = sp.max_distance_km
FROM profiles q LEFT JOIN search_preferences sp ON sp.user_id = q.user_id
WHERE q.user_id = p.user_id;--> statement-breakpoint
-- Candidates without a distance limit ("anywhere", clubs): one range of this index per gender,
-- ranking tier (search_tier) and date-of-birth window, read without visiting the table (every
-- column the first stage tests or scores is included), so the mutual conditions and the match %
-- are checked on the index entry. Replaces 0014's index.
DROP INDEX IF EXISTS "profiles_search_gender_dob_idx";--> statement-breakpoint
CREATE INDEX "profiles_search_rank_idx" ON "profiles" USING btree ("gender", "search_tier", "date_of_birth")
  INCLUDE ("user_id", "latitude", "longitude", "personality", "wants_genders", "wants_min_age", "wants_max_age",
    "wants_max_distance_km", "verification_required", "hide_me_from_strangers")
  WHERE "onboarded_at" IS NOT NULL AND "shadow_banned_at" IS NULL;--> statement-breakpoint
-- Distance-limited searches read 0012's GiST index inside their bounding box; with the tier as a
-- key each tier's read skips the other tiers' entries, and with the same columns included it is
-- read without visiting the table either.
DROP INDEX IF EXISTS "profiles_search_idx";--> statement-breakpoint
CREATE INDEX "profiles_search_idx" ON "profiles"
  USING gist (point("longitude", "latitude"), "date_of_birth", "gender", "search_tier")
  INCLUDE ("user_id", "latitude", "longitude", "personality", "wants_genders", "wants_min_age", "wants_max_age",
    "wants_max_distance_km", "verification_required", "hide_me_from_strangers")
  WHERE "onboarded_at" IS NOT NULL AND "shadow_banned_at" IS NULL;
