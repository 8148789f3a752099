-- One database and one owner per service: no service can read another's tables (invariant 8).
CREATE ROLE evidence LOGIN PASSWORD 'evidence';
CREATE DATABASE evidence OWNER evidence;
CREATE ROLE mastery LOGIN PASSWORD 'mastery';
CREATE DATABASE mastery OWNER mastery;
CREATE ROLE scheduling LOGIN PASSWORD 'scheduling';
CREATE DATABASE scheduling OWNER scheduling;
CREATE ROLE notify LOGIN PASSWORD 'notify';
CREATE DATABASE notify OWNER notify;
CREATE ROLE analytics LOGIN PASSWORD 'analytics';
CREATE DATABASE analytics OWNER analytics;
