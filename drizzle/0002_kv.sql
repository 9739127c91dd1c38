CREATE TABLE "kv_entries" (
	"key" text collate "C" PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "kv_entries_key_length" CHECK (octet_length("kv_entries"."key") between 1 and 512)
);
