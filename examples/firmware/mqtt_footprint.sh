#!/usr/bin/env bash
# The MQTT clients next to brine (BENCHMARKS.md, "Firmware over Ethernet"): minimq 0.13.5 and
# rust-mqtt 0.6, each on the same board + MAC driver + embassy-net setup as
# brine-firmware-embassy (brine_firmware::net_embassy), built in a scratch package under
# target/ (fetched code is never part of the repository), sized like the brine builds, and
# run once under QEMU against a local mosquitto broker on 127.0.0.1: connect, subscribe,
# publish one message to that topic, receive it back, exit.
# Usage: bash examples/firmware/mqtt_footprint.sh [OUT]   (net_footprint.sh --mqtt calls it)
#        (needs mosquitto (Debian: mosquitto), qemu-system-arm, arm-none-eabi-size/-nm or llvm-size/-nm)
set -euo pipefail
cd "$(dirname "$0")"
FIRMWARE=$(pwd)
OUT=${1:-target/net-footprint}
SCRATCH=target/mqtt-scratch
TARGET=thumbv7m-none-eabi
SIZE=$(command -v arm-none-eabi-size || command -v llvm-size || true)
NM=$(command -v arm-none-eabi-nm || command -v llvm-nm || true)
command -v mosquitto >/dev/null 2>&1 || { echo "error: needs mosquitto (Debian: apt-get install mosquitto)" >&2; exit 1; }
[ -n "$SIZE" ] && [ -n "$NM" ] || { echo "error: needs arm-none-eabi-size/-nm or llvm-size/-nm" >&2; exit 1; }
mkdir -p "$OUT" "$SCRATCH/src/bin"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$SCRATCH/Cargo.toml" <<TOML
[package]
name = "mqtt-footprint"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
brine-firmware = { path = "$FIRMWARE", default-features = false, features = ["embassy"] }
cortex-m = "0.7.7"
cortex-m-rt = "0.7.5"
cortex-m-semihosting = "0.5.0"
embassy-executor = { version = "0.10", features = ["platform-cortex-m", "executor-thread"] }
embassy-net = { version = "0.9.1", features = ["proto-ipv4", "tcp", "dhcpv4", "medium-ethernet"] }
minimq = { version = "=0.13.5", default-features = false }
rust-mqtt = { version = "=0.6.0", default-features = false, features = ["v5", "bump"] }

[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
debug = true
panic = "abort"
TOML
# examples/firmware/.cargo/config.toml (a parent directory) sets the target and the linker script.

# What both programs share: the executor, the embassy-net connection to BRINE_SERVER.
main_rs() {
    cat <<RUST
#![no_std]
#![no_main]

use brine_firmware::{clock, exit, fail, net_embassy};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embassy_executor::{Executor, Spawner};

const TOPIC: &str = "brine/footprint";
const MESSAGE: &[u8] = b"hello from $1";

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let executor =
        cortex_m::singleton!(: Executor = Executor::new()).unwrap_or_else(|| fail("executor"));
    executor.run(|spawner| match mqtt(spawner) {
        Ok(task) => spawner.spawn(task),
        Err(_) => fail("cannot spawn the task"),
    })
}
RUST
}

{
    main_rs minimq
    cat <<'RUST'

#[embassy_executor::task]
async fn mqtt(spawner: Spawner) {
    use minimq::{Buffers, ConfigBuilder, Publication, Session, TopicFilter};
    let socket = net_embassy::connect(spawner).await;
    let rx = cortex_m::singleton!(: [u8; 1024] = [0; 1024]).unwrap_or_else(|| fail("rx"));
    let tx = cortex_m::singleton!(: [u8; 1024] = [0; 1024]).unwrap_or_else(|| fail("tx"));
    let config = ConfigBuilder::new(Buffers::new(rx, tx))
        .client_id("brine-footprint-minimq")
        .unwrap_or_else(|_| fail("client id"));
    let mut session = Session::new(config);
    let mut conn = match session.connect(socket).await {
        Ok(conn) => conn,
        Err(e) => fail(format_args!("connect: {e:?}")),
    };
    if let Err(e) = conn.subscribe(&[TopicFilter::new(TOPIC)], &[]).await {
        fail(format_args!("subscribe: {e:?}"));
    }
    if let Err(e) = conn.publish(Publication::new(TOPIC, MESSAGE)).await {
        fail(format_args!("publish: {e:?}"));
    }
    match conn.recv().await {
        Ok(message) => hprintln!("received {} bytes on {}", message.payload().len(), message.topic()),
        Err(e) => fail(format_args!("recv: {e:?}")),
    }
    exit(0)
}
RUST
} >"$SCRATCH/src/bin/minimq.rs"

{
    main_rs rust-mqtt
    cat <<'RUST'

#[embassy_executor::task]
async fn mqtt(spawner: Spawner) {
    use rust_mqtt::buffer::BumpBuffer;
    use rust_mqtt::client::event::Event;
    use rust_mqtt::client::options::{
        ConnectOptions, PublicationOptions, SubscriptionOptions, TopicReference,
    };
    use rust_mqtt::client::Client;
    use rust_mqtt::types::{MqttString, TopicFilter, TopicName};
    use rust_mqtt::Bytes;
    let socket = net_embassy::connect(spawner).await;
    let memory = cortex_m::singleton!(: [u8; 2048] = [0; 2048]).unwrap_or_else(|| fail("memory"));
    let mut buffer = BumpBuffer::new(memory);
    let mut client = Client::<'_, '_, _, _, 1, 1, 1, 1, 1, 0, 1>::new(&mut buffer);
    let id = MqttString::try_from("brine-footprint-rust-mqtt").unwrap_or_else(|_| fail("id"));
    if let Err(e) = client.connect(socket, &ConnectOptions::new().clean_start(), Some(id)).await {
        fail(format_args!("connect: {e:?}"));
    }
    let topic = MqttString::try_from(TOPIC).unwrap_or_else(|_| fail("topic"));
    let filter = TopicFilter::new(topic.as_borrowed()).unwrap_or_else(|| fail("filter"));
    if let Err(e) = client.subscribe(filter, &SubscriptionOptions::new()).await {
        fail(format_args!("subscribe: {e:?}"));
    }
    let name = TopicName::new(topic.as_borrowed()).unwrap_or_else(|| fail("name"));
    let mut published = false;
    loop {
        match client.poll().await {
            Ok(Event::Suback(_)) if !published => {
                let options = PublicationOptions::new(TopicReference::Name(name.as_borrowed()));
                if let Err(e) = client.publish(&options, Bytes::from(MESSAGE)).await {
                    fail(format_args!("publish: {e:?}"));
                }
                published = true;
            }
            Ok(Event::Publish(p)) => {
                hprintln!("received {} bytes on {}", p.message.len(), TOPIC);
                exit(0)
            }
            Ok(_) => {}
            Err(e) => fail(format_args!("poll: {e:?}")),
        }
    }
}
RUST
} >"$SCRATCH/src/bin/rust-mqtt.rs"

(cd "$SCRATCH" && BRINE_SERVER=10.0.2.2:$PORT cargo build --release -q)

conf=$(mktemp)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$PORT" >"$conf"
mosquitto -c "$conf" >/dev/null 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null || true; rm -f "$conf"' EXIT
sleep 0.5
for client in minimq rust-mqtt; do
    elf="$OUT/mqtt-$client"
    cp "$SCRATCH/target/$TARGET/release/$client" "$elf"
    read -r flash ram < <("$SIZE" -A "$elf" | awk '
        $1==".vector_table"||$1==".text"||$1==".rodata"{f+=$2} $1==".data"{f+=$2; r+=$2} $1==".bss"{r+=$2}
        END{printf "%d %d\n", f, r}')
    set +e
    last=$(timeout 60 qemu-system-arm -machine lm3s6965evb -cpu cortex-m3 -nographic -monitor none \
        -semihosting-config enable=on,target=native -serial null -nic user,model=stellaris \
        -kernel "$elf" 2>/dev/null | tail -n 1)
    status=$?
    set -e
    share="—"
    if [ -f "$OUT/baseline-embassy" ]; then
        base=$("$SIZE" -A "$OUT/baseline-embassy" | awk '$1==".vector_table"||$1==".text"||$1==".rodata"||$1==".data"{f+=$2} END{print f}')
        share=$((flash - base))
    fi
    own=$("$NM" -S -C -t d --size-sort "$elf" | awk -v re="^${client//-/_}::" '$3 ~ /^[tTrR]$/ {n=$0; sub(/^[^ ]+ +[^ ]+ +[^ ]+ +/, "", n); if (n ~ re) s += $2} END{print s+0}')
    printf '| %s %s (MQTT 5 client on the embassy-net setup) | %d | %d | %s | %s (%s::*) | `%s` (exit %d, against mosquitto) |\n' \
        "$client" "$([ "$client" = minimq ] && echo 0.13.5 || echo 0.6.0)" "$flash" "$ram" "$share" "$own" "${client//-/_}" "$last" "$status"
done
