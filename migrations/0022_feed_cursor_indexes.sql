DROP INDEX "users_status_last_online_idx";--> statement-breakpoint
DROP INDEX "profiles_last_event_idx";--> statement-breakpoint
CREATE INDEX "users_status_last_online_idx" ON "users" USING btree ("status","last_online_at","id");--> statement-breakpoint
CREATE INDEX "profiles_last_event_idx" ON "profiles" USING btree ("last_event_at","user_id") WHERE "profiles"."onboarded_at" is not null and "profiles"."shadow_banned_at" is null;