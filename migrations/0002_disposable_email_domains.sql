CREATE TABLE "disposable_email_domains" (
	"domain" text PRIMARY KEY NOT NULL
);
