ALTER TABLE "sign_in_challenges" ADD COLUMN "answers" jsonb;--> statement-breakpoint
ALTER TABLE "sign_in_challenges" ADD COLUMN "pending_club" text;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "visitors_checked_at" timestamp with time zone;