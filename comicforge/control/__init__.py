"""Control images for ControlNets and the draft engine: OpenPose figures and lineart."""
