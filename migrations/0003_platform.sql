CREATE TYPE "public"."rate_limit_algorithm" AS ENUM('fixed', 'sliding');--> statement-breakpoint
CREATE TABLE "rate_limit_rules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tier_id" uuid NOT NULL,
	"name" text NOT NULL,
	"route" text NOT NULL,
	"limit" integer NOT NULL,
	"period_seconds" integer NOT NULL,
	"algorithm" "rate_limit_algorithm" DEFAULT 'fixed' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rate_limit_rules_limit_positive" CHECK ("rate_limit_rules"."limit" > 0),
	CONSTRAINT "rate_limit_rules_period_positive" CHECK ("rate_limit_rules"."period_seconds" > 0)
);
--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "features" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "tiers" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "rate_limit_rules" ADD CONSTRAINT "rate_limit_rules_tier_id_tiers_id_fk" FOREIGN KEY ("tier_id") REFERENCES "public"."tiers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "rate_limit_rules_tier_route_key" ON "rate_limit_rules" USING btree ("tier_id","route");--> statement-breakpoint
CREATE UNIQUE INDEX "rate_limit_rules_tier_name_key" ON "rate_limit_rules" USING btree ("tier_id","name");