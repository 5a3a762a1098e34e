CREATE TYPE "public"."moderation_action" AS ENUM('ban', 'delete-photo');--> statement-breakpoint
CREATE TYPE "public"."inbox_box" AS ENUM('intros', 'chats');--> statement-breakpoint
CREATE TABLE "banned_clubs" (
	"name" text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE "clubs" (
	"name" text PRIMARY KEY NOT NULL,
	"member_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "clubs_name" CHECK (char_length("clubs"."name") between 1 and 42 and "clubs"."name" = lower("clubs"."name")),
	CONSTRAINT "clubs_member_count" CHECK ("clubs"."member_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "member_clubs" (
	"user_id" uuid NOT NULL,
	"club_name" text NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "member_clubs_user_id_club_name_pk" PRIMARY KEY("user_id","club_name")
);
--> statement-breakpoint
CREATE TABLE "moderation_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"action" "moderation_action" NOT NULL,
	"target_user_id" uuid NOT NULL,
	"photo_id" text,
	"reporter_id" uuid,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	CONSTRAINT "moderation_tokens_photo" CHECK (("moderation_tokens"."action" = 'delete-photo') = ("moderation_tokens"."photo_id" is not null))
);
--> statement-breakpoint
CREATE TABLE "search_answer_filters" (
	"user_id" uuid NOT NULL,
	"question_id" smallint NOT NULL,
	"answer" boolean NOT NULL,
	"accept_unanswered" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_answer_filters_user_id_question_id_pk" PRIMARY KEY("user_id","question_id")
);
--> statement-breakpoint
CREATE TABLE "search_results" (
	"searcher_id" uuid NOT NULL,
	"position" smallint NOT NULL,
	"prospect_id" uuid NOT NULL,
	"match_percentage" smallint NOT NULL,
	"built_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_results_searcher_id_position_pk" PRIMARY KEY("searcher_id","position")
);
--> statement-breakpoint
CREATE TABLE "visits" (
	"subject_id" uuid NOT NULL,
	"object_id" uuid NOT NULL,
	"invisible" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "visits_subject_id_object_id_pk" PRIMARY KEY("subject_id","object_id")
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"member_a" uuid NOT NULL,
	"member_b" uuid NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_member_a_member_b_pk" PRIMARY KEY("member_a","member_b"),
	CONSTRAINT "conversations_order" CHECK ("conversations"."member_a" < "conversations"."member_b")
);
--> statement-breakpoint
CREATE TABLE "inbox_entries" (
	"owner_id" uuid NOT NULL,
	"peer_id" uuid NOT NULL,
	"box" "inbox_box" NOT NULL,
	"last_seq" bigint NOT NULL,
	"last_sender_id" uuid NOT NULL,
	"last_body" text NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	"unread_count" integer DEFAULT 0 NOT NULL,
	"read_seq" bigint DEFAULT 0 NOT NULL,
	"read_at" timestamp with time zone,
	CONSTRAINT "inbox_entries_owner_id_peer_id_pk" PRIMARY KEY("owner_id","peer_id"),
	CONSTRAINT "inbox_entries_unread" CHECK ("inbox_entries"."unread_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "intro_hashes" (
	"hash" text PRIMARY KEY NOT NULL,
	"used_count" integer DEFAULT 0 NOT NULL,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"member_a" uuid NOT NULL,
	"member_b" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"sender_id" uuid NOT NULL,
	"client_id" text NOT NULL,
	"body" text NOT NULL,
	"audio_key" text,
	"is_intro" boolean DEFAULT false NOT NULL,
	"hidden_from_recipient" boolean DEFAULT false NOT NULL,
	"reaction" text,
	"reacted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_member_a_member_b_seq_pk" PRIMARY KEY("member_a","member_b","seq"),
	CONSTRAINT "messages_body_length" CHECK (char_length("messages"."body") <= 5000),
	CONSTRAINT "messages_client_id_length" CHECK (char_length("messages"."client_id") between 1 and 128),
	CONSTRAINT "messages_sender" CHECK ("messages"."sender_id" in ("messages"."member_a", "messages"."member_b"))
);
--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "intros_notified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "chats_notified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "search_preferences" ADD COLUMN "filters" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "member_clubs" ADD CONSTRAINT "member_clubs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "member_clubs" ADD CONSTRAINT "member_clubs_club_name_clubs_name_fk" FOREIGN KEY ("club_name") REFERENCES "public"."clubs"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "moderation_tokens" ADD CONSTRAINT "moderation_tokens_target_user_id_users_id_fk" FOREIGN KEY ("target_user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "moderation_tokens" ADD CONSTRAINT "moderation_tokens_reporter_id_users_id_fk" FOREIGN KEY ("reporter_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_answer_filters" ADD CONSTRAINT "search_answer_filters_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_answer_filters" ADD CONSTRAINT "search_answer_filters_question_id_questions_id_fk" FOREIGN KEY ("question_id") REFERENCES "public"."questions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_results" ADD CONSTRAINT "search_results_searcher_id_users_id_fk" FOREIGN KEY ("searcher_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_results" ADD CONSTRAINT "search_results_prospect_id_users_id_fk" FOREIGN KEY ("prospect_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_subject_id_users_id_fk" FOREIGN KEY ("subject_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visits" ADD CONSTRAINT "visits_object_id_users_id_fk" FOREIGN KEY ("object_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_member_a_users_id_fk" FOREIGN KEY ("member_a") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_member_b_users_id_fk" FOREIGN KEY ("member_b") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_entries" ADD CONSTRAINT "inbox_entries_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_entries" ADD CONSTRAINT "inbox_entries_peer_id_users_id_fk" FOREIGN KEY ("peer_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_fk" FOREIGN KEY ("member_a","member_b") REFERENCES "public"."conversations"("member_a","member_b") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "clubs_name_trgm_idx" ON "clubs" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "clubs_member_count_idx" ON "clubs" USING btree ("member_count" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "member_clubs_club_idx" ON "member_clubs" USING btree ("club_name","user_id");--> statement-breakpoint
CREATE INDEX "moderation_tokens_expires_idx" ON "moderation_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "search_results_prospect_idx" ON "search_results" USING btree ("prospect_id");--> statement-breakpoint
CREATE INDEX "visits_object_updated_idx" ON "visits" USING btree ("object_id","updated_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "visits_subject_updated_idx" ON "visits" USING btree ("subject_id","updated_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "conversations_member_b_idx" ON "conversations" USING btree ("member_b");--> statement-breakpoint
CREATE INDEX "inbox_entries_owner_last_idx" ON "inbox_entries" USING btree ("owner_id","last_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "inbox_entries_unread_idx" ON "inbox_entries" USING btree ("last_at","owner_id") WHERE "inbox_entries"."unread_count" > 0;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_client_id_key" ON "messages" USING btree ("member_a","member_b","sender_id","client_id");--> statement-breakpoint
CREATE INDEX "messages_audio_key_idx" ON "messages" USING btree ("audio_key") WHERE "messages"."audio_key" is not null;--> statement-breakpoint
CREATE INDEX "skips_reported_object_idx" ON "skips" USING btree ("object_id","created_at") WHERE "skips"."reported";ALTER TABLE "search_results" SET UNLOGGED;
