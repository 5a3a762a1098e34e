CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TYPE "public"."ethnicity" AS ENUM('black-african-descent', 'east-asian', 'hispanic-latino', 'middle-eastern', 'native-american', 'pacific-islander', 'south-asian', 'southeast-asian', 'white-caucasian', 'other');--> statement-breakpoint
CREATE TYPE "public"."frequency" AS ENUM('often', 'sometimes', 'never');--> statement-breakpoint
CREATE TYPE "public"."gender" AS ENUM('man', 'woman', 'agender', 'intersex', 'non-binary', 'transgender', 'trans-woman', 'trans-man', 'other');--> statement-breakpoint
CREATE TYPE "public"."looking_for" AS ENUM('friends', 'short-term-dating', 'long-term-dating', 'marriage');--> statement-breakpoint
CREATE TYPE "public"."notification_frequency" AS ENUM('immediately', 'daily', 'every-3-days', 'weekly', 'never');--> statement-breakpoint
CREATE TYPE "public"."orientation" AS ENUM('straight', 'gay', 'lesbian', 'bisexual', 'asexual', 'demisexual', 'pansexual', 'other');--> statement-breakpoint
CREATE TYPE "public"."relationship_status" AS ENUM('single', 'seeing-someone', 'engaged', 'married', 'divorced', 'widowed', 'other');--> statement-breakpoint
CREATE TYPE "public"."religion" AS ENUM('agnostic', 'atheist', 'buddhist', 'christian', 'hindu', 'jewish', 'muslim', 'zoroastrian', 'other');--> statement-breakpoint
CREATE TYPE "public"."star_sign" AS ENUM('aquarius', 'aries', 'cancer', 'capricorn', 'gemini', 'leo', 'libra', 'pisces', 'sagittarius', 'scorpio', 'taurus', 'virgo');--> statement-breakpoint
CREATE TYPE "public"."storage_bucket" AS ENUM('images', 'audio');--> statement-breakpoint
CREATE TYPE "public"."units" AS ENUM('metric', 'imperial');--> statement-breakpoint
CREATE TYPE "public"."verification_level" AS ENUM('none', 'basics', 'photos');--> statement-breakpoint
CREATE TYPE "public"."verification_status" AS ENUM('uploading-photo', 'queued', 'running', 'success', 'failure');--> statement-breakpoint
CREATE TYPE "public"."yes_no" AS ENUM('yes', 'no');--> statement-breakpoint
CREATE TYPE "public"."yes_no_maybe" AS ENUM('yes', 'no', 'maybe');--> statement-breakpoint
CREATE TABLE "banned_photo_hashes" (
	"hash" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messaged" (
	"subject_id" uuid NOT NULL,
	"object_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messaged_subject_id_object_id_pk" PRIMARY KEY("subject_id","object_id")
);
--> statement-breakpoint
CREATE TABLE "photos" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"position" smallint NOT NULL,
	"blurhash" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"is_gif" boolean DEFAULT false NOT NULL,
	"content_hash" text NOT NULL,
	"verified" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "photos_position" CHECK ("photos"."position" between -7 and 7 and "photos"."position" <> 0),
	CONSTRAINT "photos_id" CHECK ("photos"."id" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "places" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"region" text,
	"country" text NOT NULL,
	"country_code" text NOT NULL,
	"label" text NOT NULL,
	"short_label" text NOT NULL,
	"search_key" text NOT NULL,
	"latitude" double precision NOT NULL,
	"longitude" double precision NOT NULL,
	"population" integer DEFAULT 0 NOT NULL,
	"verification_required" boolean DEFAULT false NOT NULL,
	CONSTRAINT "places_latitude" CHECK ("places"."latitude" between -90 and 90),
	CONSTRAINT "places_longitude" CHECK ("places"."longitude" between -180 and 180)
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"url_slug" text,
	"date_of_birth" date,
	"place_id" integer,
	"latitude" double precision,
	"longitude" double precision,
	"gender" "gender",
	"seeking_genders" "gender"[],
	"about" text,
	"occupation" text,
	"education" text,
	"height_cm" smallint,
	"orientation" "orientation",
	"ethnicity" "ethnicity",
	"looking_for" "looking_for",
	"smoking" "yes_no",
	"drinking" "frequency",
	"drugs" "yes_no",
	"long_distance" "yes_no",
	"relationship_status" "relationship_status",
	"has_kids" "yes_no",
	"wants_kids" "yes_no_maybe",
	"exercise" "frequency",
	"religion" "religion",
	"star_sign" "star_sign",
	"units" "units" DEFAULT 'metric' NOT NULL,
	"chats_notification" "notification_frequency" DEFAULT 'immediately' NOT NULL,
	"intros_notification" "notification_frequency" DEFAULT 'daily' NOT NULL,
	"privacy_verification_level" "verification_level" DEFAULT 'none' NOT NULL,
	"show_my_location" boolean DEFAULT true NOT NULL,
	"show_my_age" boolean DEFAULT true NOT NULL,
	"show_my_looking_for" boolean DEFAULT true NOT NULL,
	"hide_me_from_strangers" boolean DEFAULT false NOT NULL,
	"browse_invisibly" boolean DEFAULT false NOT NULL,
	"public_profile" boolean DEFAULT false NOT NULL,
	"theme_title_color" text,
	"theme_body_color" text,
	"theme_background_color" text,
	"verification_level" "verification_level" DEFAULT 'none' NOT NULL,
	"verified_age" boolean DEFAULT false NOT NULL,
	"verified_gender" boolean DEFAULT false NOT NULL,
	"verified_ethnicity" boolean DEFAULT false NOT NULL,
	"verification_required" boolean DEFAULT false NOT NULL,
	"shadow_banned_at" timestamp with time zone,
	"onboarded_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profiles_about_length" CHECK (char_length("profiles"."about") <= 10000),
	CONSTRAINT "profiles_height" CHECK ("profiles"."height_cm" between 50 and 300),
	CONSTRAINT "profiles_theme_colors" CHECK ("profiles"."theme_title_color" ~ '^#[0-9a-f]{6}$' and "profiles"."theme_body_color" ~ '^#[0-9a-f]{6}$' and "profiles"."theme_background_color" ~ '^#[0-9a-f]{6}$')
);
--> statement-breakpoint
CREATE TABLE "search_preferences" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"genders" "gender"[] NOT NULL,
	"min_age" smallint NOT NULL,
	"max_age" smallint NOT NULL,
	"max_distance_km" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_preferences_ages" CHECK ("search_preferences"."min_age" between 18 and 99 and "search_preferences"."max_age" between "search_preferences"."min_age" and 99),
	CONSTRAINT "search_preferences_distance" CHECK ("search_preferences"."max_distance_km" > 0)
);
--> statement-breakpoint
CREATE TABLE "selfie_hashes" (
	"hash" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "skips" (
	"subject_id" uuid NOT NULL,
	"object_id" uuid NOT NULL,
	"reported" boolean DEFAULT false NOT NULL,
	"report_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "skips_subject_id_object_id_pk" PRIMARY KEY("subject_id","object_id")
);
--> statement-breakpoint
CREATE TABLE "storage_deletions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"bucket" "storage_bucket" NOT NULL,
	"object_key" text NOT NULL,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "verifications" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"status" "verification_status" DEFAULT 'uploading-photo' NOT NULL,
	"selfie_id" text NOT NULL,
	"selfie_hash" text NOT NULL,
	"message" text,
	"job_id" uuid,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "verifications_selfie_id" CHECK ("verifications"."selfie_id" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "voice_bios" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"object_key" text NOT NULL,
	"content_type" text NOT NULL,
	"codec" text NOT NULL,
	"duration_ms" integer NOT NULL,
	"bytes" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "voice_bios_id" CHECK ("voice_bios"."id" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "messaged" ADD CONSTRAINT "messaged_subject_id_users_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messaged" ADD CONSTRAINT "messaged_object_id_users_id_fk" FOREIGN KEY ("object_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "photos" ADD CONSTRAINT "photos_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_place_id_places_id_fk" FOREIGN KEY ("place_id") REFERENCES "public"."places"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_preferences" ADD CONSTRAINT "search_preferences_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "selfie_hashes" ADD CONSTRAINT "selfie_hashes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "skips" ADD CONSTRAINT "skips_subject_id_users_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "skips" ADD CONSTRAINT "skips_object_id_users_id_fk" FOREIGN KEY ("object_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verifications" ADD CONSTRAINT "verifications_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verifications" ADD CONSTRAINT "verifications_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voice_bios" ADD CONSTRAINT "voice_bios_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messaged_object_idx" ON "messaged" USING btree ("object_id","subject_id");--> statement-breakpoint
CREATE UNIQUE INDEX "photos_user_position_key" ON "photos" USING btree ("user_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "places_label_key" ON "places" USING btree ("label");--> statement-breakpoint
CREATE INDEX "places_search_key_trgm_idx" ON "places" USING gin ("search_key" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "profiles_url_slug_key" ON "profiles" USING btree ("url_slug");--> statement-breakpoint
CREATE INDEX "profiles_onboarding_created_idx" ON "profiles" USING btree ("created_at") WHERE "profiles"."onboarded_at" is null;--> statement-breakpoint
CREATE INDEX "skips_object_idx" ON "skips" USING btree ("object_id","subject_id");--> statement-breakpoint
CREATE UNIQUE INDEX "storage_deletions_object_key" ON "storage_deletions" USING btree ("bucket","object_key");--> statement-breakpoint
CREATE INDEX "verifications_expires_idx" ON "verifications" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "voice_bios_id_key" ON "voice_bios" USING btree ("id");