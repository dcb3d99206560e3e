#!/usr/bin/env python3
"""Makes broadband noise examples with sox: white, pink, brown and TPDF noise, some filtered
(low-pass, high-pass, band-pass, like hiss, rumble or radio static), 2 to 5 s, label noise.

usage: make_noise.py OUT_DIR [COUNT]

Fixed seed; files that exist are kept.
"""
import os
import random
import subprocess
import sys


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rng = random.Random(1610)
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        color = rng.choice(["whitenoise", "pinknoise", "brownnoise", "tpdfnoise"])
        seconds = rng.uniform(2.0, 5.0)
        effects = ["vol", f"{rng.uniform(0.1, 0.6):.2f}"]
        shape = rng.choice(["none", "none", "lowpass", "highpass", "bandpass"])
        if shape == "lowpass":
            effects += ["lowpass", str(rng.randint(800, 6000))]
        elif shape == "highpass":
            effects += ["highpass", str(rng.randint(1000, 6000))]
        elif shape == "bandpass":
            effects += ["bandpass", str(rng.randint(500, 5000)), f"{rng.randint(200, 2000)}h"]
        if rng.random() < 0.3:  # crackle of a badly tuned radio
            effects += ["tremolo", f"{rng.uniform(4, 30):.1f}", str(rng.randint(20, 70))]
        effects += ["fade", "q", "0.05", f"{seconds:.2f}", "0.2"]
        dest = os.path.join(out, f"noise-{color}-{shape}-{i:04d}.wav")
        if os.path.exists(dest):
            continue
        subprocess.run(["sox", "-R", "-n", "-r", "22050", "-c", "1", "-b", "16", dest + ".tmp.wav",
                        "synth", f"{seconds:.2f}", color] + effects, check=True)
        os.replace(dest + ".tmp.wav", dest)
    print(f"make_noise: {count} files in {out}")


if __name__ == "__main__":
    main()
