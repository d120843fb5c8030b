"""The four steps of a sync — extract, map, dedupe, load — as plain functions over staging."""
