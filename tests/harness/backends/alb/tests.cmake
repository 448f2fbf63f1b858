# cleanroom_alb_backend_tests run the alb backend against cleanroom-mock-aws
# in-process (ELBv2 and ECS over real HTTP, SigV4 verified, faults injected
# through the control API) and, for ownership races the mock cannot stage
# (a reused IP), with the ecs part answered by the ecs tests' FakeEcs.
target_link_libraries(cleanroom_alb_backend_tests PRIVATE cleanroom::mock_aws)
