-- Search (src/services/search-query.ts) with a club filter and no distance limit has no bounding
-- box to walk 0012's GiST index with, so the candidates of the right gender and age were found by
-- scanning that whole index (its first column is the point). This btree finds them directly: at
-- 200,000 members a club search's execution fell by 25–45 % (docs/BENCHMARKS.md, search section).
-- Same partial predicate as the GiST index.
CREATE INDEX IF NOT EXISTS "profiles_search_gender_dob_idx" ON "profiles" USING btree ("gender", "date_of_birth")
  WHERE "onboarded_at" IS NOT NULL AND "shadow_banned_at" IS NULL;
