#!/usr/bin/env bash
# Start the compose broker: format its storage once, with a SCRAM-SHA-512 user for each entry of
# KAFKA_SCRAM_USERS ("name=password,..."; `broker` is the broker's own user), then run Kafka on
# server.properties. tests/test_compose_kafka.py runs this script against Kafka from Maven's jars.
set -euo pipefail

bin=${KAFKA_BIN:-/opt/kafka/bin}
template=${MOSAIC_KAFKA_CONFIG:-/etc/mosaic-kafka/server.properties}
work=${MOSAIC_KAFKA_WORK:-/tmp/mosaic-kafka}
users=${KAFKA_SCRAM_USERS:?set KAFKA_SCRAM_USERS to name=password pairs, separated by commas}

broker_password=$(tr ',' '\n' <<<"$users" | sed -n 's/^broker=//p')
if [ -z "$broker_password" ]; then
  echo "KAFKA_SCRAM_USERS must include the broker's own user: broker=<password>" >&2
  exit 1
fi
mkdir -p "$work"
config="$work/server.properties"
sed "s|@BROKER_PASSWORD@|${broker_password}|" "$template" >"$config"
# What the healthcheck and an operator's kafka-*.sh tools need to connect as the broker's user.
cat >"$work/client.properties" <<CLIENT
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="${broker_password}";
CLIENT

log_dir=$(sed -n 's/^log\.dirs=//p' "$config")
if [ ! -f "$log_dir/meta.properties" ]; then
  scram=()
  IFS=',' read -ra pairs <<<"$users"
  for pair in "${pairs[@]}"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=${pair%%=*},password=${pair#*=}]")
  done
  "$bin/kafka-storage.sh" format -t "${CLUSTER_ID:-$("$bin/kafka-storage.sh" random-uuid)}" -c "$config" "${scram[@]}"
fi
exec "$bin/kafka-server-start.sh" "$config"
