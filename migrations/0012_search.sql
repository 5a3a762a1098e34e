-- Search (src/services/search-query.ts): candidates are read nearest-first inside the searcher's
-- bounding box through this index, which also holds date of birth and gender so rows outside the
-- searcher's age range (and, for a one-gender search, the other genders) are skipped inside the
-- index instead of being fetched: ~2.5x faster on the 200k bench. btree_gist is in Neon, Debian's
-- PostgreSQL contrib and PGlite's default extensions (scripts/embedded/postgres.ts). Partial: only
-- live, not shadow-banned profiles are ever candidates.
CREATE EXTENSION IF NOT EXISTS btree_gist;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "profiles_search_idx" ON "profiles"
  USING gist (point("longitude", "latitude"), "date_of_birth", "gender")
  WHERE "onboarded_at" IS NOT NULL AND "shadow_banned_at" IS NULL;
