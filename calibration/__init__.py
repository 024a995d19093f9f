"""FP16 conversion and INT8 Q/DQ calibration of exported CoMiX graphs (later issue)."""
