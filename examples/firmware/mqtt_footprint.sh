# The MQTT clients next to brine (BENCHMARKS.md, "Firmware over Ethernet"): minimq 0.13.5 and
# rust-mqtt 0.6, each on the same board + MAC driver + embassy-net setup as
# brine-firmware-embassy (brine_firmware::net_embassy), built in a scratch package under
# target/ (fetched code is never part of the repository), sized like the brine builds, and
# run once under QEMU against a local mosquitto broker on 127.0.0.1: connect, subscribe,
# publish one message to that topic, receive it back, exit.
# Sourced by `bash examples/firmware/net_footprint.sh --mqtt` (uses its OUT, PORT, TARGET,
# sizes, symbols and boot, and the baseline-embassy it built); needs mosquitto (Debian:
# apt-get install mosquitto).
command -v mosquitto >/dev/null 2>&1 || { echo "error: needs mosquitto (Debian: apt-get install mosquitto)" >&2; exit 1; }
FIRMWARE=$(pwd)
SCRATCH=target/mqtt-scratch
mkdir -p "$SCRATCH/src/bin"

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

use brine_firmware::{exit, fail, net_embassy};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;

const TOPIC: &str = "brine/footprint";
const MESSAGE: &[u8] = b"hello from $1";

#[entry]
fn main() -> ! {
    net_embassy::run(mqtt)
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
read -r base _ < <(sizes "$OUT/baseline-embassy")
for client in minimq rust-mqtt; do
    elf="$OUT/mqtt-$client"
    cp "$SCRATCH/target/$TARGET/release/$client" "$elf"
    read -r flash ram < <(sizes "$elf")
    printf '| %s %s (MQTT 5 client on the embassy-net setup) | %d | %d | %d | %d (%s::*) | %s against mosquitto |\n' \
        "$client" "$([ "$client" = minimq ] && echo 0.13.5 || echo 0.6.0)" "$flash" "$ram" \
        $((flash - base)) "$(symbols "$elf" "${client//-/_}::")" "${client//-/_}" "$(boot "$elf")"
done
