-- clubs.member_count counts ACTIVE members (users.status = 'active' and not soft-deleted), kept by
-- triggers so every path keeps it right: joining and leaving (member_clubs rows), deactivation,
-- reactivation at sign-in, finishing onboarding, admin soft delete and restore (users updates),
-- and account deletion (users deletes).
--
-- Deleting a user cascades to member_clubs, but by the time the cascaded member_clubs triggers
-- run the users row is gone, so they cannot tell whether the member counted. The BEFORE DELETE
-- trigger on users therefore takes the member out of their clubs' counts while the row is still
-- there, and the member_clubs trigger only counts rows whose user still exists.

CREATE FUNCTION club_member_is_active(member uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM users WHERE id = member AND status = 'active' AND deleted_at IS NULL)
$$;--> statement-breakpoint

CREATE FUNCTION count_club_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') AND club_member_is_active(OLD.user_id) THEN
    UPDATE clubs SET member_count = member_count - 1 WHERE name = OLD.club_name;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND club_member_is_active(NEW.user_id) THEN
    UPDATE clubs SET member_count = member_count + 1 WHERE name = NEW.club_name;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER member_clubs_count AFTER INSERT OR DELETE OR UPDATE OF user_id, club_name ON member_clubs
  FOR EACH ROW EXECUTE FUNCTION count_club_membership();--> statement-breakpoint

CREATE FUNCTION count_club_member_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was_active boolean := OLD.status = 'active' AND OLD.deleted_at IS NULL;
  is_active boolean := TG_OP = 'UPDATE' AND NEW.status = 'active' AND NEW.deleted_at IS NULL;
  club text;
BEGIN
  IF was_active IS DISTINCT FROM is_active THEN
    -- One club at a time in name order, so two members' changes lock shared club rows in the
    -- same order and cannot deadlock.
    FOR club IN SELECT club_name FROM member_clubs WHERE user_id = OLD.id ORDER BY club_name LOOP
      UPDATE clubs SET member_count = member_count + CASE WHEN is_active THEN 1 ELSE -1 END
      WHERE name = club;
    END LOOP;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER users_club_member_status AFTER UPDATE OF status, deleted_at ON users
  FOR EACH ROW EXECUTE FUNCTION count_club_member_status();--> statement-breakpoint
CREATE TRIGGER users_club_member_delete BEFORE DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION count_club_member_status();--> statement-breakpoint

-- Names no club may take, nor come close to (src/services/clubs.ts compares with trigram word
-- similarity). Hate groups and sexual content involving minors; moderators add more with SQL.
INSERT INTO banned_clubs (name) VALUES
  ('nazi'), ('neo nazi'), ('neonazi'), ('white power'), ('white supremacy'), ('kkk'),
  ('ku klux klan'), ('heil hitler'), ('isis'), ('pedophile'), ('paedophile'), ('child porn'),
  ('lolicon'), ('shotacon')
ON CONFLICT DO NOTHING;
