//! Project configuration: `.clnrm/config.toml`, clnrm's own `cleanroom.toml` where ours is
//! silent, and client settings.
