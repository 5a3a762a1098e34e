CREATE TABLE "answers" (
	"user_id" uuid NOT NULL,
	"question_id" smallint NOT NULL,
	"answer" boolean,
	"is_public" boolean DEFAULT false NOT NULL,
	"answered_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "answers_user_id_question_id_pk" PRIMARY KEY("user_id","question_id")
);
--> statement-breakpoint
CREATE TABLE "questions" (
	"id" smallint PRIMARY KEY NOT NULL,
	"text" text NOT NULL,
	"topic" text NOT NULL,
	"presence_given_yes" real[] NOT NULL,
	"absence_given_yes" real[] NOT NULL,
	"presence_given_no" real[] NOT NULL,
	"absence_given_no" real[] NOT NULL,
	"count_yes" integer DEFAULT 0 NOT NULL,
	"count_no" integer DEFAULT 0 NOT NULL,
	"retired" boolean DEFAULT false NOT NULL,
	CONSTRAINT "questions_id" CHECK ("questions"."id" > 0),
	CONSTRAINT "questions_topic" CHECK ("questions"."topic" in ('values', 'sex', 'interpersonal', 'other')),
	CONSTRAINT "questions_counts" CHECK ("questions"."count_yes" >= 0 and "questions"."count_no" >= 0)
);
--> statement-breakpoint
CREATE TABLE "traits" (
	"position" smallint PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"min_label" text NOT NULL,
	"max_label" text NOT NULL,
	"description" text NOT NULL,
	"topic" text NOT NULL,
	CONSTRAINT "traits_position" CHECK ("traits"."position" >= 0)
);
--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "personality" real[];--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "presence_score" real[];--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "absence_score" real[];--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "answer_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "answers" ADD CONSTRAINT "answers_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "answers" ADD CONSTRAINT "answers_question_id_questions_id_fk" FOREIGN KEY ("question_id") REFERENCES "public"."questions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "answers_question_idx" ON "answers" USING btree ("question_id");--> statement-breakpoint
CREATE INDEX "questions_text_trgm_idx" ON "questions" USING gin (lower("text") gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "traits_key_key" ON "traits" USING btree ("key");--> statement-breakpoint

-- questions.count_yes/count_no follow the answers table through a trigger rather than application
-- code, so answers removed by cascades (account deletion) are uncounted too.
CREATE FUNCTION count_question_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.answer IS NOT DISTINCT FROM OLD.answer AND NEW.question_id = OLD.question_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.answer IS NOT NULL THEN
    UPDATE questions
    SET count_yes = count_yes - OLD.answer::int, count_no = count_no - (NOT OLD.answer)::int
    WHERE id = OLD.question_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.answer IS NOT NULL THEN
    UPDATE questions
    SET count_yes = count_yes + NEW.answer::int, count_no = count_no + (NOT NEW.answer)::int
    WHERE id = NEW.question_id;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER answers_count_questions AFTER INSERT OR DELETE OR UPDATE OF answer, question_id ON answers
  FOR EACH ROW EXECUTE FUNCTION count_question_answers();
