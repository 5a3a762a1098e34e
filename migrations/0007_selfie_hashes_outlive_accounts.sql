ALTER TABLE "selfie_hashes" DROP CONSTRAINT "selfie_hashes_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "selfie_hashes" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "selfie_hashes" ADD CONSTRAINT "selfie_hashes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;