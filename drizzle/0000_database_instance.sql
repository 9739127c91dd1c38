CREATE TABLE "instance" (
	"id" uuid PRIMARY KEY NOT NULL,
	"singleton" boolean DEFAULT true NOT NULL,
	"database_type" text NOT NULL,
	"set_up_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instance_singleton_unique" UNIQUE("singleton"),
	CONSTRAINT "instance_single_row" CHECK ("instance"."singleton")
);
