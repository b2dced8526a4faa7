//! Real cache servers for the remote-cache tests, started on 127.0.0.1 from Debian's
//! packages (`tests/run.sh` installs them): `redis-server`, and nginx with its WebDAV
//! module as an HTTP cache speaking Bazel's protocol (`GET`/`PUT {base}/ac/{key}`).
//! Each server lives in a temporary directory and is killed when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process on `port`, killed (and reaped) on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    /// The cache URL clients use.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's directory (nginx keeps what is `PUT` under `store/`).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// Kill it now (the remote going down mid-run).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether `program` is installed (the tests say so and skip where it is not, unless
/// `CLNRM_REQUIRE_SERVERS` is set, as CI sets it).
pub fn available(program: &str) -> bool {
    // nginx lives in /usr/sbin, which a non-root PATH may lack.
    let found = Path::new("/usr/sbin").join(program).exists()
        || Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CLNRM_REQUIRE_SERVERS").is_none(),
            "{program} is required (CLNRM_REQUIRE_SERVERS is set)"
        );
        eprintln!("skipped: {program} is not installed");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Wait until the port accepts connections (the server is up), or the child died.
fn wait_listening(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Start `make(dir, port)` on a free port; a port taken between the probe and the start
/// is tried again with another.
fn start(make: impl Fn(&Path, u16) -> (Command, String)) -> Server {
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let (mut cmd, url) = make(dir.path(), port);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        if wait_listening(&mut child, port) {
            return Server {
                child,
                port,
                url,
                _dir: dir,
            };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("the server did not start");
}

/// `redis-server` without persistence; with `password`, clients must authenticate.
pub fn redis(password: Option<&str>) -> Server {
    start(|dir, port| {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir);
        let auth = match password {
            Some(p) => {
                cmd.args(["--requirepass", p]);
                format!(":{p}@")
            }
            None => String::new(),
        };
        (cmd, format!("redis://{auth}127.0.0.1:{port}/0"))
    })
}

/// nginx (one process, no daemon) storing what is `PUT` under `/cache/`, as a Bazel HTTP
/// cache does.
pub fn nginx_dav() -> Server {
    start(|dir, port| {
        let store = dir.join("store");
        std::fs::create_dir_all(store.join("cache")).expect("create the store");
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
               proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
               uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
               server {{\n    listen 127.0.0.1:{port};\n    location /cache/ {{\n\
                   root {s};\n      dav_methods PUT;\n      create_full_put_path on;\n\
                   dav_access user:rw group:r all:r;\n      client_max_body_size 64m;\n\
                 }}\n  }}\n}}\n",
            d = dir.display(),
            s = store.display(),
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).expect("write nginx.conf");
        let mut cmd = Command::new(nginx_bin());
        cmd.arg("-p").arg(dir).arg("-c").arg(&path);
        (cmd, format!("http://127.0.0.1:{port}/cache"))
    })
}

fn nginx_bin() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}

/// The `moto_server` program (an S3-compatible server, from PyPI's `moto[server]`, which
/// `tests/run.sh` installs into a virtual environment): `CLNRM_MOTO_SERVER`, else that
/// environment's, else `PATH`'s.
pub fn moto_bin() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    std::env::var_os("CLNRM_MOTO_SERVER")
        .map(PathBuf::from)
        .into_iter()
        .chain(home.map(|h| h.join(".cache/clnrm-moto/bin/moto_server")))
        .find(|p| p.exists())
        .or_else(|| available_quietly("moto_server").then(|| PathBuf::from("moto_server")))
}

fn available_quietly(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An S3-compatible server (moto) with the bucket `bucket` made; the URL uses a prefix
/// and names the endpoint, credentials come from the environment the test sets.
pub fn s3() -> Option<Server> {
    let Some(bin) = moto_bin() else {
        assert!(
            std::env::var_os("CLNRM_REQUIRE_SERVERS").is_none(),
            "moto_server is required (CLNRM_REQUIRE_SERVERS is set)"
        );
        eprintln!("skipped: moto_server is not installed");
        return None;
    };
    let server = start(|_, port| {
        let mut cmd = Command::new(&bin);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        (
            cmd,
            format!("s3://bucket/team?endpoint=http://127.0.0.1:{port}&region=us-east-1"),
        )
    });
    // Make the bucket: `PUT /bucket` (moto accepts unsigned requests).
    use std::io::{Read as _, Write as _};
    let mut conn = TcpStream::connect(("127.0.0.1", server.port)).expect("connect to moto");
    write!(
        conn,
        "PUT /bucket HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.port
    )
    .expect("create the bucket");
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    Some(server)
}

/// A listener that accepts connections and never answers: the slow remote.
pub fn silent_listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = l.local_addr().expect("its address").port();
    (l, format!("http://127.0.0.1:{port}/cache"))
}
