# cleanroom_docker_backend_tests serve their Docker-like routes and the Unix
# socket from cleanroom::mock_common's MockHttpServer (in-process).
target_link_libraries(cleanroom_docker_backend_tests PRIVATE cleanroom::mock_common)
